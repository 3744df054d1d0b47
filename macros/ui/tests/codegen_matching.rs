//! Handlers that match their definitions, including `Option` for a nullable output and a query
//! without input.
rasura::include_generated!();
use rasura::generated::ActionDef;
use rasura::{ActionError, Ctx, action};

#[action(query)]
async fn ping(_ctx: Ctx) -> Result<Option<hasura::types::PingOutput>, ActionError> {
    Ok(None)
}

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

#[action(mutation, asynchronous)]
async fn later(
    _ctx: Ctx,
    _input: hasura::actions::LaterArgs,
) -> Result<hasura::types::LaterOutput, ActionError> {
    Ok(hasura::types::LaterOutput { accepted: true })
}

#[test]
fn handlers_matching_their_definitions_compile() {
    assert_eq!(<hasura::actions::Pong as ActionDef>::NAME, "pong");
    let checked = rasura::Service::new()
        .handlers()
        .iter()
        .filter(|h| match &h.kind {
            rasura::registry::HandlerKind::Action(a) => {
                matches!(a.definition, rasura::registry::ActionSchema::Generated(_))
            }
            _ => false,
        })
        .count();
    assert_eq!(checked, 3);
}
