// Code-first actions: the input and output types must derive `CustomType` (or be generated),
// and the derive refuses what GraphQL cannot express.
use rasura::{action, ActionError, Ctx, CustomType};

#[derive(serde::Deserialize)]
struct PlainInput {
    name: String,
}

#[derive(serde::Serialize)]
struct PlainOutput {
    ok: bool,
}

#[action]
async fn plain(_ctx: Ctx, _input: PlainInput) -> Result<PlainOutput, ActionError> {
    Ok(PlainOutput { ok: true })
}

#[derive(serde::Serialize, CustomType)]
struct Tuple(String);

#[derive(serde::Serialize, CustomType)]
enum WithData {
    A(u8),
    B,
}

#[derive(serde::Serialize, CustomType)]
#[serde(rename_all = "kebab-case")]
struct Kebab {
    first_name: String,
}

#[derive(serde::Serialize, CustomType)]
struct Flattened {
    #[serde(flatten)]
    rest: std::collections::HashMap<String, String>,
}

#[derive(serde::Serialize, CustomType)]
#[serde(rename_all = "camel")]
struct UnknownRule {
    a: String,
}

#[derive(serde::Serialize, CustomType)]
struct Unmapped {
    when: std::time::SystemTime,
}

fn main() {}
