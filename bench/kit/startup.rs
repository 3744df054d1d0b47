//! Start-up time: from `spawn` to the first answered request (any HTTP status: a peer without
//! a health route answers 404 or 405), polled every 200 µs over a raw TCP connection (an HTTP
//! client's own set-up would blur a figure of a few milliseconds). Not pinned to a core: a
//! start-up is mostly waiting, not computing.

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Gives up on a start after this long.
const LIMIT: Duration = Duration::from_secs(20);

/// Starts `command` `runs` times, printing the median time to the first answer as a record.
pub fn run(system: &str, url: &str, runs: usize, command: &[String]) -> Result<(), String> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| format!("`{url}`: only http:// URLs are polled"))?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let request = format!("GET {path} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n\r\n");
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs.max(1) {
        times.push(start_once(authority, &request, command)?);
    }
    times.sort_by(f64::total_cmp);
    let median = times[times.len() / 2];
    println!(
        "{}",
        serde_json::json!({"kind": "startup", "system": system, "ms": median,
                           "min_ms": times[0], "max_ms": times[times.len() - 1], "runs": times.len()})
    );
    Ok(())
}

fn start_once(authority: &str, request: &str, command: &[String]) -> Result<f64, String> {
    let (program, args) = command.split_first().ok_or("no command")?;
    let started = Instant::now();
    let mut child = Command::new(program)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("`{program}`: {e}"))?;
    let outcome = loop {
        if started.elapsed() > LIMIT {
            break Err(format!("`{program}` did not answer within {LIMIT:?}"));
        }
        if let Ok(Some(status)) = child.try_wait() {
            break Err(format!("`{program}` exited before answering ({status})"));
        }
        if answered(authority, request) {
            break Ok(started.elapsed().as_secs_f64() * 1000.0);
        }
        std::thread::sleep(Duration::from_micros(200));
    };
    let _ = child.kill();
    let _ = child.wait();
    // Let the port be released before the next start.
    std::thread::sleep(Duration::from_millis(100));
    outcome
}

fn answered(authority: &str, request: &str) -> bool {
    let Ok(mut stream) = TcpStream::connect(authority) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    if stream.write_all(request.as_bytes()).is_err() {
        return false;
    }
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).is_ok() && head.starts_with(b"HTTP/1.")
}
