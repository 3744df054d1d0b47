// A derived type named like a custom type of actions.graphql must agree with it.
use rasura::CustomType;

#[derive(serde::Serialize, CustomType)]
struct PongOutput {
    message: String,
    number: String,
}

#[derive(serde::Serialize, CustomType)]
struct LaterOutput {
    accepted: bool,
    extra: i32,
}

#[derive(serde::Serialize, CustomType)]
enum PingOutput {
    A,
}

fn main() {}
