//! The generated types read and write what Hasura and Postgres really send: GraphQL responses
//! (aliases, fragments, nesting, `__typename`, `@include`), variables, input objects with
//! absent/null/value fields, and event rows as `row_to_json` encodes them.

use rasura::generated::ActionDef;
use rasura::generated::EventTable;
use rasura::generated::GraphqlOperation;
use rasura::types::{Nullable, Timestamptz};
use rasura_generated_fixtures::{aerie, carnet_de_bord, pysura, pysura_all};
use serde_json::json;

#[test]
fn response_data_has_only_the_selected_fields() {
    use pysura::operations::{UsersByRole, users_by_role};
    let data: users_by_role::ResponseData = serde_json::from_value(json!({
        "admins": [{
            "__typename": "user",
            "user_id": "u1",
            "role": "admin",
            "created_at": "2024-05-01T22:00:00.123+00:00",
            "files": [{"file_id": "f1", "creator": {"user_id": "u1"}}, {"file_id": "f2", "creator": null}]
        }],
        "total": {"aggregate": {"count": 1}}
    }))
    .unwrap();
    let admin = &data.admins[0];
    assert_eq!(admin.typename, "user");
    assert_eq!(admin.role, pysura::types::EnumRoleEnum::Admin);
    assert_eq!(admin.user_phone, None, "@include(if: false) leaves it out");
    assert_eq!(
        admin.created_at.unwrap(),
        "2024-05-01T22:00:00.123Z".parse::<Timestamptz>().unwrap()
    );
    assert_eq!(admin.files[1].creator, None);
    assert_eq!(data.total.aggregate.unwrap().count, 1);
    assert_eq!(UsersByRole::OPERATION_NAME, "UsersByRole");
    assert!(
        UsersByRole::QUERY.contains("fragment UserFields on user"),
        "used fragments are sent"
    );

    let vars = users_by_role::Variables {
        role: pysura::types::EnumRoleEnum::User,
        limit: None,
        with_phone: true,
    };
    assert_eq!(
        serde_json::to_value(&vars).unwrap(),
        json!({"role": "user", "withPhone": true})
    );
}

#[test]
fn input_objects_never_send_an_absent_field_as_null() {
    use pysura::operations::set_user_phone;
    let set = pysura::types::UserSetInput {
        user_phone: Nullable::Value("+331234".into()),
        updated_at: Nullable::Null,
        ..Default::default()
    };
    let vars = set_user_phone::Variables {
        user_id: "u1".into(),
        set,
    };
    assert_eq!(
        serde_json::to_value(&vars).unwrap(),
        json!({"user_id": "u1", "set": {"user_phone": "+331234", "updated_at": null}})
    );
    let data: set_user_phone::ResponseData = serde_json::from_value(json!({
        "update_user_by_pk": {"user_id": "u1", "role": "user", "updated_at": null}
    }))
    .unwrap();
    assert_eq!(data.update_user_by_pk.unwrap().user_id, "u1");
}

#[test]
fn event_rows_read_postgres_encodings() {
    let row: pysura::events::UserRow = serde_json::from_value(json!({
        "user_id": "u1", "role": "persona", "user_phone": "+33", "token": 12,
        "created_at": "2020-01-01T10:00:00.123+00:00", "updated_at": null
    }))
    .unwrap();
    assert_eq!(row.token, 12);
    assert_eq!(row.role, pysura::types::EnumRoleEnum::Persona);
    assert_eq!(<pysura::events::UserRow as EventTable>::TABLE, "user");
    // A missing nullable column is `None`; a missing required one is an error.
    assert!(serde_json::from_value::<pysura::events::UserRow>(json!({"user_id": "u1"})).is_err());
}

#[test]
fn numeric_columns_and_postgres_enum_scalars() {
    // intuition: `atom_id: numeric` (a number, or a string under
    // HASURA_GRAPHQL_STRINGIFY_NUMERIC_TYPES) and `account_type` (a Postgres enum, which Hasura
    // exposes as a custom scalar: a transparent newtype).
    use rasura_generated_fixtures::intuition_all::types::{AccountType, AccountsMaxFields};
    for atom_id in [json!(12345678901234567_u64), json!("12345678901234567")] {
        let max: AccountsMaxFields =
            serde_json::from_value(json!({"atom_id": atom_id, "id": "0x1"})).unwrap();
        assert_eq!(max.atom_id.unwrap().to_string(), "12345678901234567");
        assert_eq!(max.label, None);
    }
    let kind: AccountType = serde_json::from_value(json!("Default")).unwrap();
    assert_eq!(kind, AccountType::from("Default"));
    assert_eq!(kind.as_str(), Some("Default"));
}

#[test]
fn actions_carry_their_sdl_for_the_metadata_export() {
    use carnet_de_bord::actions::{CreateNotebook, CreateNotebookArgs};
    assert_eq!(<CreateNotebook as ActionDef>::NAME, "create_notebook");
    assert_eq!(
        <CreateNotebook as ActionDef>::SDL,
        "type Mutation {\n  create_notebook(notebook: CreateNotebookInput!, source: String!): CreateNotebookOutput\n}"
    );
    assert!(
        <CreateNotebook as ActionDef>::TYPES_SDL
            .starts_with("input CreateNotebookInput {\n  nir: String!")
    );
    assert!(<CreateNotebook as ActionDef>::TYPES_SDL.contains("type CreateNotebookOutput {"));
    let args: CreateNotebookArgs = serde_json::from_value(json!({
        "notebook": {"nir": "1", "firstname": "A", "lastname": "B", "dateOfBirth": "1990-02-03"},
        "source": "x"
    }))
    .unwrap();
    assert_eq!(args.notebook.date_of_birth.to_string(), "1990-02-03");
    assert_eq!(args.notebook.external_id, Nullable::Absent);
}

#[test]
fn interfaces_and_custom_scalars_of_actions() {
    // aerie: `scalar ModelArguments` is any JSON; `errors: [Error!]!` is an interface type.
    let args: aerie::actions::GetModelEffectiveArgumentsArgs = serde_json::from_value(json!({
        "missionModelId": 1, "modelArguments": {"a": [1, 2]}
    }))
    .unwrap();
    assert_eq!(args.model_arguments.0, json!({"a": [1, 2]}));
}

#[test]
fn reachable_mode_stays_small() {
    let reachable = pysura::EMITTED_TYPES.lines().count();
    let all = pysura_all::EMITTED_TYPES.lines().count();
    assert!(reachable < 10 && all > 100, "{reachable} vs {all}");
}
