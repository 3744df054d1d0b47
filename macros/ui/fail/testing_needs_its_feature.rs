// The test kit stays out of services: without the `testing` feature it cannot be named.
fn main() {
    let _ = rasura::testing::TEST_WEBHOOK_SECRET;
}
