//! A code-first action with nested inputs and outputs, enums, lists, options and renames.
use rasura::custom_types::action_definition;
use rasura::{ActionError, Ctx, CustomType, action};

/// Where to ship.
#[derive(serde::Deserialize, CustomType)]
#[serde(rename_all = "camelCase")]
struct Address {
    street_line: String,
    zip: Option<String>,
}

#[derive(serde::Deserialize, CustomType)]
#[serde(rename_all = "camelCase")]
struct OrderInput {
    /// The buyer.
    customer_id: rasura::types::Uuid,
    items: Vec<i32>,
    ship_to: Address,
    #[serde(rename = "note")]
    comment: Option<String>,
    #[serde(skip)]
    #[allow(dead_code)]
    internal: u8,
}

#[derive(serde::Serialize, CustomType)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
enum Status {
    Accepted,
    OnHold,
}

#[derive(serde::Serialize, CustomType)]
#[serde(rename = "OrderResult")]
struct OrderOutput {
    id: i64,
    status: Status,
    totals: Vec<Option<f64>>,
    data: rasura::types::Json,
}

#[action(roles = ["user"])]
async fn place_order(_ctx: Ctx, input: OrderInput) -> Result<OrderOutput, ActionError> {
    let _ = (
        input.customer_id,
        input.items,
        input.ship_to.street_line,
        input.ship_to.zip,
        input.comment,
    );
    Ok(OrderOutput {
        id: 1,
        status: Status::Accepted,
        totals: vec![],
        data: rasura::types::Json::Null,
    })
}

#[action(query)]
async fn status(_ctx: Ctx) -> Result<Vec<Status>, ActionError> {
    Ok(vec![Status::OnHold])
}

#[test]
fn a_code_first_action_derives_its_definition() {
    let d = action_definition::<OrderInput, OrderOutput>("place_order", false);
    assert_eq!(
        d.sdl,
        "type Mutation {\n  place_order(\n    \"The buyer.\"\n    customerId: uuid!\n    items: [Int!]!\n    shipTo: Address!\n    note: String\n  ): OrderResult\n}\n"
    );
    assert!(
        d.types_sdl.contains(
            "\"Where to ship.\"\ninput Address {\n  streetLine: String!\n  zip: String\n}\n"
        ),
        "{}",
        d.types_sdl
    );
    assert!(d.types_sdl.contains("type OrderResult {\n  id: bigint!\n  status: Status!\n  totals: [Float]!\n  data: jsonb!\n}\n"), "{}", d.types_sdl);
    assert!(
        d.types_sdl
            .contains("enum Status {\n  ACCEPTED\n  ON_HOLD\n}\n"),
        "{}",
        d.types_sdl
    );
    assert!(d.problems.is_empty());
    let status = rasura::Service::new()
        .handlers()
        .into_iter()
        .find(|h| h.name == "status")
        .unwrap();
    let rasura::registry::HandlerKind::Action(a) = &status.kind else {
        panic!()
    };
    assert_eq!(
        a.definition.resolve().sdl,
        "type Query {\n  status: [Status!]\n}\n"
    );
}
