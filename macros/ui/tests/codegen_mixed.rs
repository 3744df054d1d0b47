//! A crate may mix: schema-first actions use the generated types, code-first ones derive
//! theirs, and a code-first action may reuse a generated type.
rasura::include_generated!();
use rasura::registry::{ActionSchema, HandlerKind};
use rasura::{ActionError, Ctx, CustomType, Event, EventError, action, event};

#[action(mutation)]
async fn pong(
    _ctx: Ctx,
    input: hasura::actions::PongArgs,
) -> Result<hasura::types::PongOutput, ActionError> {
    Ok(hasura::types::PongOutput {
        message: input.message,
        number: input.number,
    })
}

#[derive(serde::Deserialize, CustomType)]
struct ShoutInput {
    text: String,
}

#[action(query, name = "shout")]
async fn shout(_ctx: Ctx, input: ShoutInput) -> Result<hasura::types::PingOutput, ActionError> {
    Ok(hasura::types::PingOutput {
        message: input.text.to_uppercase(),
    })
}

/// Agrees with actions.graphql's `PongOutput`.
#[derive(serde::Serialize, CustomType)]
struct LaterOutput {
    accepted: bool,
}

#[event(table = "public.users", insert, update(columns = ["email"]))]
async fn user_signed_up(_ctx: Ctx, _e: Event<hasura::events::UsersRow>) -> Result<(), EventError> {
    Ok(())
}

#[event(table = "public.notes", insert)]
async fn note_added(_ctx: Ctx, _e: Event<rasura::types::Json>) -> Result<(), EventError> {
    Ok(())
}

#[test]
fn schema_first_and_code_first_actions_mix() {
    let _ = LaterOutput { accepted: true };
    for h in rasura::Service::new().handlers() {
        if let HandlerKind::Action(a) = &h.kind {
            let derived = matches!(a.definition, ActionSchema::Derived(_));
            assert_eq!(derived, h.name == "shout", "{}", h.name);
        }
    }
    let shout = rasura::Service::new()
        .handlers()
        .into_iter()
        .find(|h| h.name == "shout")
        .unwrap();
    let HandlerKind::Action(a) = &shout.kind else {
        panic!()
    };
    let d = a.definition.resolve();
    assert_eq!(
        d.sdl,
        "type Query {\n  shout(\n    text: String!\n  ): PingOutput\n}\n"
    );
    assert_eq!(d.types_sdl, "type PingOutput {\n  message: String!\n}\n");
}
