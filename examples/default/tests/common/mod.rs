//! Helpers shared by the example's binary tests.

use serde_json::{Value, json};

/// The live metadata a Hasura holds after applying what the example declares (the output of
/// `metadata export`).
pub fn synced(declared: &Value) -> Value {
    let mut tables: Vec<Value> = Vec::new();
    for t in declared["event_triggers"].as_array().unwrap() {
        match tables.iter_mut().find(|x| x["table"] == t["table"]) {
            Some(table) => table["event_triggers"]
                .as_array_mut()
                .unwrap()
                .push(t["trigger"].clone()),
            None => tables.push(json!({"table": t["table"], "event_triggers": [t["trigger"]]})),
        }
    }
    json!({
        "version": 3,
        "sources": [{"name": "default", "kind": "postgres", "tables": tables}],
        "actions": declared["actions"],
        "custom_types": declared["custom_types"],
        "cron_triggers": declared["cron_triggers"],
    })
}
