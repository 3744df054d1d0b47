//! Code-first actions: `#[derive(CustomType)]` SDL against a hand-written equivalent (both
//! parsed with `graphql-parser`), and `metadata export --dir` of a crate without
//! `actions.graphql` into a Hasura CLI directory, read back as the Hasura CLI (and
//! rasura-codegen) read it; the export's handling of `custom_types: {}`, inline table entries and
//! objects it cannot export.

// Doc comments become descriptions in the expected SDL: only some items have them.
#![allow(missing_docs)]

use std::path::{Path, PathBuf};

use rasura::metadata::dir;
use rasura::metadata::{Declared, ExportOptions};
use rasura::registry::Handler;
use rasura::{ActionError, Ctx, CustomType, Event, EventError, action, cron, event, handler};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A place to ship to.
#[derive(Serialize, Deserialize, CustomType)]
#[serde(rename_all = "camelCase")]
pub struct Address {
    /// Street and number.
    pub street_line: String,
    pub postal_code: Option<String>,
}

#[derive(Deserialize, CustomType)]
#[serde(rename_all = "camelCase")]
pub struct PlaceOrderInput {
    /// Who orders.
    pub customer_id: rasura::types::Uuid,
    pub item_ids: Vec<i32>,
    pub ship_to: Address,
    pub gift: Option<bool>,
}

/// Where an order stands.
#[derive(Serialize, Deserialize, CustomType)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum OrderStatus {
    /// Taken, not shipped.
    Accepted,
    OnHold,
}

#[derive(Serialize, CustomType)]
#[serde(rename = "PlaceOrderOutput")]
pub struct Placed {
    pub order_id: i64,
    pub status: OrderStatus,
    pub placed_at: rasura::types::Timestamptz,
    pub total: rasura::types::Numeric,
    pub lines: Vec<Line>,
    pub note: Option<String>,
}

#[derive(Serialize, CustomType)]
pub struct Line {
    pub item_id: i32,
    pub price: f64,
    pub extra: rasura::types::Json,
}

/// Places an order.
#[action(roles = ["user", "manager"], timeout = 10)]
pub async fn place_order(_ctx: Ctx, input: PlaceOrderInput) -> Result<Placed, ActionError> {
    let _ = (input.customer_id, input.item_ids, input.ship_to, input.gift);
    Err(ActionError::bad_request("not-here", "not in this test"))
}

/// The statuses an order can have.
#[action(query, roles = ["user"])]
pub async fn order_statuses(_ctx: Ctx) -> Result<Vec<OrderStatus>, ActionError> {
    Ok(vec![OrderStatus::Accepted, OrderStatus::OnHold])
}

#[event(table = "public.orders", insert)]
pub async fn order_created(_ctx: Ctx, _e: Event<Value>) -> Result<(), EventError> {
    Ok(())
}

#[cron(schedule = "0 3 * * *")]
pub async fn nightly_orders(_ctx: Ctx, _tick: rasura::Cron) -> Result<(), EventError> {
    Ok(())
}

/// An address used as input and output: Hasura needs two types, so it cannot be exported.
#[action]
pub async fn echo_address(_ctx: Ctx, input: EchoInput) -> Result<EchoOutput, ActionError> {
    Ok(EchoOutput {
        address: input.address.street_line,
    })
}

#[derive(Deserialize, CustomType)]
pub struct EchoInput {
    pub address: Address,
}

#[derive(Serialize, CustomType)]
pub struct EchoOutput {
    pub address: String,
}

#[derive(Serialize, CustomType)]
pub struct Bad {
    pub address: Address,
}

/// Returns an input type as output.
#[action]
pub async fn bad_output(_ctx: Ctx, input: EchoInput) -> Result<Bad, ActionError> {
    Ok(Bad {
        address: input.address,
    })
}

const HAND_WRITTEN: &str = r#"
type Mutation {
  place_order(
    "Who orders."
    customerId: uuid!
    itemIds: [Int!]!
    shipTo: Address!
    gift: Boolean
  ): PlaceOrderOutput
}

"A place to ship to."
input Address {
  "Street and number."
  streetLine: String!
  postalCode: String
}

type PlaceOrderOutput {
  order_id: bigint!
  status: OrderStatus!
  placed_at: timestamptz!
  total: numeric!
  lines: [Line!]!
  note: String
}

"Where an order stands."
enum OrderStatus {
  "Taken, not shipped."
  ACCEPTED
  ON_HOLD
}

type Line {
  item_id: Int!
  price: Float!
  extra: jsonb!
}
"#;

fn definitions(sdl: &str) -> Vec<String> {
    let doc = graphql_parser::parse_schema::<String>(sdl)
        .unwrap_or_else(|e| panic!("{e}\n{sdl}"))
        .into_static();
    let mut defs: Vec<String> = doc.definitions.iter().map(|d| d.to_string()).collect();
    defs.sort();
    defs
}

#[test]
fn derived_sdl_parses_and_matches_the_hand_written_equivalent() {
    let d =
        rasura::custom_types::action_definition::<PlaceOrderInput, Placed>("place_order", false);
    assert!(d.problems.is_empty(), "{:?}", d.problems);
    let derived = format!("{}\n{}", d.sdl, d.types_sdl);
    assert_eq!(definitions(&derived), definitions(HAND_WRITTEN));
}

fn handlers() -> Vec<&'static Handler> {
    vec![
        handler!(place_order),
        handler!(order_statuses),
        handler!(order_created),
        handler!(nightly_orders),
        handler!(echo_address),
        handler!(bad_output),
    ]
}

fn temp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("rasura-code-first-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn yaml(path: &Path) -> Value {
    serde_yaml_ng::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn what_cannot_be_exported_is_said_per_object_and_the_rest_is_exported() {
    let declared = Declared::from_handlers(&handlers(), &ExportOptions::new("shop")).unwrap();
    let names: Vec<&str> = declared.actions.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(names, ["echo_address", "order_statuses", "place_order"]);
    assert_eq!(declared.skipped.len(), 1, "{:?}", declared.skipped);
    let skipped = declared.skipped[0].to_string();
    assert!(
        skipped.starts_with("action `bad_output` not exported:"),
        "{skipped}"
    );
    assert!(
        skipped.contains("both in arguments and in an output"),
        "{skipped}"
    );
    assert_eq!(declared.event_triggers.len(), 1);
    assert_eq!(declared.cron_triggers.len(), 1);
}

#[test]
fn a_code_first_crate_exports_a_directory_the_hasura_cli_reads() {
    let dir = temp("fresh");
    let declared = Declared::from_handlers(&handlers(), &ExportOptions::new("shop")).unwrap();
    dir::export(&declared, &ExportOptions::new("shop"), &dir).unwrap();

    // As rasura-codegen (and the Hasura CLI) read it: the SDL and the YAML agree.
    let graphql = std::fs::read_to_string(dir.join("actions.graphql")).unwrap();
    let yaml_text = std::fs::read_to_string(dir.join("actions.yaml")).unwrap();
    let actions = rasura_codegen::actions::Actions::parse(
        &graphql,
        "actions.graphql",
        Some((&yaml_text, "actions.yaml")),
    )
    .unwrap();
    let place = actions
        .actions
        .iter()
        .find(|a| a.name == "place_order")
        .unwrap();
    let args: Vec<(String, String)> = place
        .field
        .args
        .iter()
        .map(|a| (a.name.clone(), a.ty.to_string()))
        .collect();
    assert_eq!(
        args,
        [
            ("customerId", "uuid!"),
            ("itemIds", "[Int!]!"),
            ("shipTo", "Address!"),
            ("gift", "Boolean")
        ]
        .map(|(a, b)| (a.to_owned(), b.to_owned()))
    );
    assert_eq!(place.field.ty.to_string(), "PlaceOrderOutput");
    assert_eq!(place.asynchronous, Some(false));
    let statuses = actions
        .actions
        .iter()
        .find(|a| a.name == "order_statuses")
        .unwrap();
    assert_eq!(statuses.field.ty.to_string(), "[OrderStatus!]");
    definitions(&graphql);

    let actions_yaml = yaml(&dir.join("actions.yaml"));
    let place = actions_yaml["actions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == "place_order")
        .unwrap();
    assert_eq!(
        place["permissions"],
        serde_json::json!([{"role": "user"}, {"role": "manager"}])
    );
    assert_eq!(place["comment"], "Places an order.");
    assert_eq!(place["definition"]["timeout"], 15);
    let names = |kind: &str| -> Vec<String> {
        actions_yaml["custom_types"][kind]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["name"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(names("objects"), ["EchoOutput", "Line", "PlaceOrderOutput"]);
    assert_eq!(names("input_objects"), ["Address"]);
    assert_eq!(names("enums"), ["OrderStatus"]);
    // Event and cron triggers are exported too.
    let tables = rasura_codegen::metadata::read_tables(&dir).unwrap();
    let orders = tables.iter().find(|t| t.table == "orders").unwrap();
    assert_eq!(orders.event_triggers.len(), 1);
    let crons = yaml(&dir.join("cron_triggers.yaml"));
    assert_eq!(crons[0]["name"], "nightly_orders");
    // Exporting again changes nothing.
    let again = dir::export(&declared, &ExportOptions::new("shop"), &dir).unwrap();
    assert!(again.written.is_empty(), "{:?}", again.written);
    // Code-first actions are marked, so codegen reading this directory (as build.rs does)
    // generates nothing for them and `#[action]` keeps taking their types from the handlers.
    assert_eq!(
        place["definition"]["headers"][2],
        serde_json::json!({"name": "X-Rasura-Definition", "value": "code"})
    );
    let schema = dir.join("schema.graphql");
    std::fs::write(
        &schema,
        "type orders { id: Int! }\ntype query_root { orders: [orders!]! }\nschema { query: query_root }\n",
    )
    .unwrap();
    let generated = rasura_codegen::Config::new()
        .schema(&schema)
        .metadata(&dir)
        .generate_to_string()
        .unwrap();
    assert!(
        !generated.manifest.contains("\naction "),
        "{}",
        generated.manifest
    );
    assert!(
        generated
            .manifest
            .contains("\ntype PlaceOrderOutput object "),
        "{}",
        generated.manifest
    );
    assert!(
        !generated.code.contains("PlaceOrderInputArgs")
            && !generated.code.contains("struct PlaceOrderArgs")
    );
}

/// One Rust type as an input object of one action and the output of another: Hasura needs two
/// types, so the second action (in name order) is not exported.
#[test]
fn one_type_as_input_of_one_action_and_output_of_another_is_skipped() {
    let declared = Declared::from_handlers(
        &[handler!(echo_address), handler!(address_of)],
        &ExportOptions::new("shop"),
    )
    .unwrap();
    assert_eq!(declared.actions.len(), 1);
    assert_eq!(declared.skipped.len(), 1, "{:?}", declared.skipped);
    let why = declared.skipped[0].to_string();
    assert!(
        why.contains("`address_of`") && why.contains("`Address`"),
        "{why}"
    );
}

/// Returns an address.
#[action(query)]
pub async fn address_of(_ctx: Ctx) -> Result<Address, ActionError> {
    Ok(Address {
        street_line: String::new(),
        postal_code: None,
    })
}

#[test]
fn a_flow_style_custom_types_mapping_is_rewritten_as_valid_yaml() {
    let dir = temp("flow");
    std::fs::write(dir.join("version.yaml"), "version: 3\n").unwrap();
    std::fs::write(dir.join("actions.yaml"), "actions: []\ncustom_types: {}\n").unwrap();
    let declared = Declared::from_handlers(&handlers(), &ExportOptions::new("shop")).unwrap();
    dir::export(&declared, &ExportOptions::new("shop"), &dir).unwrap();
    let actions_yaml = yaml(&dir.join("actions.yaml"));
    assert_eq!(
        actions_yaml["custom_types"]["enums"][0]["name"],
        "OrderStatus"
    );
    assert_eq!(
        actions_yaml["custom_types"]["scalars"],
        serde_json::json!([])
    );
    assert_eq!(actions_yaml["actions"].as_array().unwrap().len(), 3);
}

#[test]
fn inline_table_entries_are_edited_in_place() {
    let dir = temp("inline");
    std::fs::write(dir.join("version.yaml"), "version: 3\n").unwrap();
    let tables = dir.join("databases/default/tables");
    std::fs::create_dir_all(&tables).unwrap();
    std::fs::write(
        dir.join("databases/databases.yaml"),
        "- name: default\n  kind: postgres\n  configuration:\n    connection_info:\n      database_url:\n        from_env: HASURA_GRAPHQL_DATABASE_URL\n  tables: \"!include default/tables/tables.yaml\"\n",
    )
    .unwrap();
    let customers = "- table:\n    name: customers\n    schema: public\n  # kept as written\n  select_permissions:\n    - role: user\n      permission:\n        columns: '*'\n        filter: {}\n";
    let orders = "- table:\n    name: orders\n    schema: public\n  object_relationships:\n    - name: customer\n      using:\n        foreign_key_constraint_on: customer_id\n";
    std::fs::write(tables.join("tables.yaml"), format!("{customers}{orders}")).unwrap();
    let declared = Declared::from_handlers(&handlers(), &ExportOptions::new("shop")).unwrap();
    dir::export(&declared, &ExportOptions::new("shop"), &dir).unwrap();
    let text = std::fs::read_to_string(tables.join("tables.yaml")).unwrap();
    assert!(text.starts_with(customers), "{text}");
    assert!(
        text.contains("  event_triggers:\n    - name: order_created\n"),
        "{text}"
    );
    let list: Value = serde_yaml_ng::from_str(&text).unwrap();
    assert_eq!(list[1]["object_relationships"][0]["name"], "customer");
    assert_eq!(
        list[1]["event_triggers"][0]["webhook"],
        "{{RASURA_BASE_URL}}/events/order_created"
    );
    assert!(!tables.join("public_orders.yaml").exists());
    let read = rasura_codegen::metadata::read_tables(&dir).unwrap();
    assert_eq!(
        read.iter()
            .find(|t| t.table == "orders")
            .unwrap()
            .event_triggers
            .len(),
        1
    );
    // Again: nothing changes; the entry is found and equal.
    assert!(
        dir::export(&declared, &ExportOptions::new("shop"), &dir)
            .unwrap()
            .written
            .is_empty()
    );
}

#[test]
fn a_broken_file_is_an_error_and_the_directory_is_untouched() {
    let dir = temp("broken");
    std::fs::write(dir.join("version.yaml"), "version: 3\n").unwrap();
    std::fs::write(
        dir.join("actions.yaml"),
        "actions: []\ncustom_types: {objects: [}\n",
    )
    .unwrap();
    let before = std::fs::read_dir(&dir).unwrap().count();
    let declared = Declared::from_handlers(&handlers(), &ExportOptions::new("shop")).unwrap();
    let err = dir::export(&declared, &ExportOptions::new("shop"), &dir)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("actions.yaml") && err.contains("custom_types"),
        "{err}"
    );
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), before);
    assert_eq!(
        std::fs::read_to_string(dir.join("actions.yaml")).unwrap(),
        "actions: []\ncustom_types: {objects: [}\n"
    );
}

#[test]
fn routes_and_metadata_export_refuse_duplicate_names_as_serve_does() {
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_rasura-duplicate-service"))
            .args(args)
            .env("RASURA_WEBHOOK_SECRET", "0123456789abcdef0123456789abcdef")
            .env_remove("HASURA_GRAPHQL_ENDPOINT")
            .output()
            .unwrap()
    };
    let mut messages = Vec::new();
    for args in [&["routes"][..], &["metadata", "export"], &["serve"]] {
        let out = run(args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        let line = stderr
            .lines()
            .find(|l| l.contains("two action handlers are named `ping`"))
            .unwrap_or_else(|| panic!("{args:?}: {stderr}"))
            .to_owned();
        assert!(line.contains("ping_twice"), "{line}");
        messages.push(line.trim_start_matches("error: ").to_owned());
        assert!(out.stdout.is_empty(), "{args:?}");
    }
    assert_eq!(messages[0], messages[1]);
    assert!(
        messages[2].ends_with(&messages[0]) || messages[2].contains(&messages[0]),
        "{messages:?}"
    );
}

fn mint(env: &[(&str, &str)], args: &[&str]) -> std::process::Output {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_rasura-test-service"));
    command.args(["jwt", "mint"]).args(args);
    for var in [
        "HASURA_GRAPHQL_JWT_SECRET",
        "RASURA_TOKEN_KEYS",
        "RASURA_TOKEN_SIGNING_KID",
    ] {
        command.env_remove(var);
    }
    command.envs(env.iter().copied());
    command.output().unwrap()
}

#[tokio::test]
async fn jwt_mint_tokens_are_accepted_by_the_service() {
    let jwt =
        serde_json::json!({"type": "HS256", "key": rasura::testing::TEST_JWT_KEY}).to_string();
    let out = mint(
        &[("HASURA_GRAPHQL_JWT_SECRET", &jwt)],
        &[
            "--role",
            "user",
            "--user-id",
            "42",
            "--allowed-roles",
            "user,admin",
            "--claims",
            r#"{"x-hasura-org-id": "7"}"#,
            "--lifetime",
            "10m",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    let token = stdout.trim();
    let s = rasura::testing::TestService::new(rasura::Service::with_handlers([handler!(
        example_default::pong
    )]));
    s.action("pong")
        .role("user")
        .user_id("42")
        .bearer(token)
        .input(serde_json::json!({"message": "hi", "number": 1}))
        .send()
        .await
        .assert_status(200);
    // Another user's session with this token is refused: the token is really for user 42.
    s.action("pong")
        .role("user")
        .user_id("43")
        .bearer(token)
        .input(serde_json::json!({"message": "hi", "number": 1}))
        .send()
        .await
        .assert_error(403, "access-denied");

    // A configuration it cannot sign for: a clear refusal, nothing on stdout.
    let out = mint(
        &[(
            "HASURA_GRAPHQL_JWT_SECRET",
            r#"{"jwk_url": "https://login.example.com/.well-known/jwks.json"}"#,
        )],
        &["--role", "user"],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    assert!(String::from_utf8_lossy(&out.stderr).contains("RASURA_TOKEN_KEYS"));
    let out = mint(&[], &["--role", "user"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("HASURA_GRAPHQL_JWT_SECRET is not set"));
}

#[test]
fn jwt_mint_signs_with_the_services_own_key_for_its_jwks() {
    let jwk =
        rasura::auth::SigningKey::generate(rasura::auth::SigningAlgorithm::EdDsa, "k1").unwrap();
    let keys = serde_json::json!({"keys": [jwk]}).to_string();
    let out = mint(
        &[
            (
                "HASURA_GRAPHQL_JWT_SECRET",
                r#"{"jwk_url": "http://127.0.0.1:3300/.well-known/jwks.json"}"#,
            ),
            ("RASURA_TOKEN_KEYS", &keys),
        ],
        &["--role", "user", "--user-id", "9"],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let token = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    // Verified against the public JWK set the service publishes.
    let signing = rasura::auth::SigningKeys::from_json(&keys, None).unwrap();
    let public = signing.public_jwks();
    let header = jsonwebtoken::decode_header(&token).unwrap();
    assert_eq!(header.kid.as_deref(), Some("k1"));
    let set: jsonwebtoken::jwk::JwkSet = serde_json::from_value(public).unwrap();
    let key = jsonwebtoken::DecodingKey::from_jwk(set.find("k1").unwrap()).unwrap();
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::EdDSA);
    validation.validate_aud = false;
    let data = jsonwebtoken::decode::<Value>(&token, &key, &validation).unwrap();
    assert_eq!(
        data.claims["https://hasura.io/jwt/claims"]["x-hasura-user-id"],
        "9"
    );
    assert_eq!(
        data.claims["https://hasura.io/jwt/claims"]["x-hasura-allowed-roles"],
        serde_json::json!(["user"])
    );
}
