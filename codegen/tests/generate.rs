//! Generation from the real Hasura projects in `../shared/fixtures/hasura-schemas`: what
//! reachable mode emits, that `all` emits every named type, the errors of bad operations and
//! overrides, and insta snapshots of the small fixtures' output.

use std::path::{Path, PathBuf};

use rasura_codegen::actions::Actions;
use rasura_codegen::schema::{Kind, Schema};
use rasura_codegen::{Config, known_scalar};

fn fixture(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/fixtures/hasura-schemas")
        .join(path)
}

fn carnet() -> Config {
    Config::new()
        .schema(fixture("carnet-de-bord/schema.graphql"))
        .metadata(fixture("carnet-de-bord/metadata"))
}

/// A file with `text` in a fresh temporary directory.
fn temp_file(name: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "rasura-codegen-test-{}-{}",
        std::process::id(),
        name.replace(['/', '.'], "_")
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn reachable_mode_emits_exactly_what_one_action_uses() {
    let generated = carnet()
        .only_actions(["diagnostic_pole_emploi"])
        .generate_to_string()
        .unwrap();
    assert_eq!(
        generated.types,
        [
            "PoleEmploiBesoinValeurEnum",
            "PoleEmploiContrainteValeurEnum",
            "PoleEmploiDossierIndividu",
            "PoleEmploiDossierIndividuBesoins",
            "PoleEmploiDossierIndividuBesoinsParDiagnosticIndividu",
            "PoleEmploiDossierIndividuContraintes",
            "PoleEmploiDossierIndividuContraintesIndividus",
            "PoleEmploiDossierIndividuObjectifs",
            "PoleEmploiDossierIndividuSituations",
            "PoleEmploiObjectifValeurEnum",
            "PoleEmploiSituationValeurEnum",
        ]
    );
    assert!(
        generated
            .code
            .contains("pub struct DiagnosticPoleEmploiArgs")
    );
    assert!(!generated.code.contains("pub struct CreateNotebookArgs"));
    // The one action, then the tracked tables (for `#[event]`) and the custom types (for
    // `#[derive(CustomType)]`) of the whole project.
    assert!(generated.manifest.starts_with(
        "module crate::hasura\naction diagnostic_pole_emploi query DiagnosticPoleEmploi\ntable carnet_de_bord public account - "
    ));
    assert_eq!(generated.manifest.matches("\naction ").count(), 1);
    assert!(
        generated
            .manifest
            .contains("\ntype CreateNotebookOutput object notebookId:uuid!\n")
    );
}

#[test]
fn only_actions_refuses_unknown_names() {
    let err = carnet()
        .only_actions(["create_notebok"])
        .generate_to_string()
        .unwrap_err();
    assert!(
        err.to_string().contains("did you mean `create_notebook`"),
        "{err}"
    );
}

/// Every named type of `schema` plus `actions` that needs code (not `__*`, not a mapped scalar).
fn every_named_type(schema: &str, actions: Option<&str>) -> Vec<String> {
    let mut s = match std::fs::read_to_string(fixture(schema)) {
        Ok(text) => Schema::parse(&text, schema).unwrap(),
        Err(_) => Schema::default(),
    };
    if let Some(a) = actions {
        let text = std::fs::read_to_string(fixture(a)).unwrap();
        s.merge(&Actions::parse(&text, a, None).unwrap().types);
    }
    s.types
        .values()
        .filter(|t| !t.name.starts_with("__"))
        .filter(|t| t.kind != Kind::Scalar || known_scalar(&t.name).is_none())
        .map(|t| t.name.clone())
        .collect()
}

#[test]
fn all_mode_emits_every_named_type_of_every_fixture() {
    let cases: [(&str, Option<&str>); 6] = [
        (
            "carnet-de-bord/schema.graphql",
            Some("carnet-de-bord/metadata/actions.graphql"),
        ),
        (
            "intuition-rs/schema.graphql",
            Some("intuition-rs/metadata/actions.graphql"),
        ),
        ("pysura/schema.graphql", None),
        ("current-bench/graphql_schema.json", None),
        ("graphql-client-tiny/schema.graphql", None),
        ("none", Some("aerie/metadata/actions.graphql")),
    ];
    for (schema, actions) in cases {
        let mut config = Config::new().all(true);
        if schema != "none" {
            config = config.schema(fixture(schema));
        }
        if let Some(a) = actions {
            config = config.actions(fixture(a));
        }
        let generated = config.generate_to_string().unwrap();
        let expected = every_named_type(schema, actions);
        assert!(expected.len() > 5, "{schema}");
        assert_eq!(generated.types, expected, "{schema}");
    }
}

#[test]
fn an_empty_actions_file_generates_nothing_cleanly() {
    let generated = Config::new()
        .schema(fixture("current-bench/graphql_schema.json"))
        .actions(fixture("current-bench/metadata/actions.graphql"))
        .generate_to_string()
        .unwrap();
    assert!(generated.types.is_empty());
    assert_eq!(generated.manifest, "module crate::hasura\n");
}

#[test]
fn v2_metadata_is_a_clear_error() {
    let err = Config::new()
        .schema(fixture("current-bench/graphql_schema.json"))
        .metadata(fixture("current-bench/metadata"))
        .generate_to_string()
        .unwrap_err();
    assert!(
        err.to_string().contains("config v2 metadata directory"),
        "{err}"
    );
}

#[test]
fn event_rows_need_a_schema() {
    let err = Config::new()
        .metadata(fixture("aerie/metadata"))
        .generate_to_string()
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("event rows need the schema snapshot"),
        "{err}"
    );
}

#[test]
fn event_rows_use_postgres_column_names_and_optional_payload_subsets() {
    let generated = Config::new()
        .schema(fixture("pysura/schema.graphql"))
        .event_table("public.user")
        .event_table("public.app")
        .generate_to_string()
        .unwrap();
    let code = &generated.code;
    assert!(code.contains("pub struct UserRow"), "{code}");
    assert!(code.contains("pub struct AppRow"));
    assert!(code.contains("const TABLE: &'static str = \"user\";"));
    // Relationships are not columns.
    assert!(!code.contains("public_user:"));
    assert!(code.contains("pub role: super::types::EnumRoleEnum,"));
}

fn operation_error(document: &str) -> String {
    let path = temp_file("op.graphql", document);
    let err = Config::new()
        .schema(fixture("pysura/schema.graphql"))
        .operations(&path)
        .generate_to_string()
        .unwrap_err()
        .to_string();
    err.replace(&path.display().to_string(), "op.graphql")
}

#[test]
fn operations_are_validated_with_positions_and_suggestions() {
    assert_eq!(
        operation_error("query Q {\n  user { user_idd }\n}"),
        "op.graphql:2:10: type `user` has no field `user_idd`, did you mean `user_id`?"
    );
    assert_eq!(
        operation_error("query Q($id: String!) {\n  user_by_pk(user_idd: $id) { user_id }\n}"),
        "op.graphql:2:3: field `query_root.user_by_pk` has no argument `user_idd`, did you mean `user_id`?\n\
         op.graphql:2:3: field `query_root.user_by_pk` requires argument `user_id: String!`"
    );
    assert_eq!(
        operation_error("query Q($id: Int!) {\n  user_by_pk(user_id: $id) { user_id }\n}"),
        "op.graphql:2:3: variable `$id` has type `Int!` but is used where `String!` is expected"
    );
    assert_eq!(
        operation_error("query Q($id: Strin!) {\n  user_by_pk(user_id: $id) { user_id }\n}"),
        "op.graphql:1:9: unknown type `Strin`, did you mean `String`?"
    );
    assert_eq!(
        operation_error("query Q($id: String!) {\n  user_by_pk(user_id: $idd) { user_id }\n}"),
        "op.graphql:2:3: variable `$idd` is not defined by the operation, did you mean `id`?\n\
         op.graphql:1:9: variable `$id` is never used in operation `Q`"
    );
    assert_eq!(
        operation_error("query Q {\n  user { ...F }\n}"),
        "op.graphql:2:13: unknown fragment `F`"
    );
    assert_eq!(
        operation_error("query Q {\n  user\n}"),
        "op.graphql:2:3: field `query_root.user` of type `[user!]!` needs a selection of subfields"
    );
    assert_eq!(
        operation_error("{ user { user_id } }"),
        "op.graphql:1:1: operations need a name (`query Name { … }`): the name becomes the Rust module"
    );
    assert_eq!(
        operation_error("query Q {\n  user(where: {rol: {_eq: user}}) { user_id }\n}"),
        "op.graphql:2:3: input type `user_bool_exp` has no field `rol`, did you mean `role`?"
    );
    assert_eq!(
        operation_error("query Q {\n  user(where: {role: {_eq: usr}}) { user_id }\n}"),
        "op.graphql:2:3: enum `ENUM_ROLE_enum` has no value `usr`, did you mean `user`?"
    );
    assert!(operation_error("query Q {").starts_with("op.graphql: invalid GraphQL"));
}

#[test]
fn overrides_are_checked_against_the_schema() {
    let base = || {
        Config::new()
            .schema(fixture("pysura/schema.graphql"))
            .event_table("public.user")
    };
    let err = base()
        .scalar("timestamptzz", "String")
        .generate_to_string()
        .unwrap_err();
    assert!(
        err.to_string().contains("did you mean `timestamptz`"),
        "{err}"
    );
    let err = base()
        .field("user.user_phon", "String")
        .generate_to_string()
        .unwrap_err();
    assert!(
        err.to_string().contains("did you mean `user_phone`"),
        "{err}"
    );
    let err = base()
        .field("usr.user_phone", "String")
        .generate_to_string()
        .unwrap_err();
    assert!(err.to_string().contains("did you mean `user`"), "{err}");
    let err = base()
        .scalar("uuid", "not a type!")
        .generate_to_string()
        .unwrap_err();
    assert!(err.to_string().contains("is not a Rust type"), "{err}");

    let code = base()
        .scalar("timestamptz", "::std::string::String")
        .field("user.user_phone", "crate::Phone")
        .generate_to_string()
        .unwrap()
        .code;
    assert!(code.contains("pub user_phone: crate::Phone,"), "{code}");
    assert!(code.contains("pub created_at: ::core::option::Option<::std::string::String>,"));
}

#[test]
fn generation_is_deterministic() {
    let a = carnet().all(true).generate_to_string().unwrap().code;
    let b = carnet().all(true).generate_to_string().unwrap().code;
    assert_eq!(a, b);
}

// Snapshots of the small fixtures (review changes with `cargo insta review`).

#[test]
fn snapshot_tiny_all() {
    let code = Config::new()
        .schema(fixture("graphql-client-tiny/schema.graphql"))
        .all(true)
        .generate_to_string()
        .unwrap()
        .code;
    insta::assert_snapshot!(code);
}

#[test]
fn snapshot_pysura_operations_and_user_row() {
    let code = Config::new()
        .schema(fixture("pysura/schema.graphql"))
        .operations(fixture("pysura/actions.graphql"))
        .event_table("public.user")
        .generate_to_string()
        .unwrap()
        .code;
    insta::assert_snapshot!(code);
}

#[test]
fn snapshot_intuition_actions() {
    let code = Config::new()
        .schema(fixture("intuition-rs/schema.graphql"))
        .metadata(fixture("intuition-rs/metadata"))
        .generate_to_string()
        .unwrap()
        .code;
    insta::assert_snapshot!(code);
}

#[test]
fn fragments_on_narrower_types_make_their_fields_optional() {
    let schema = temp_file(
        "abstract.graphql",
        "schema { query: Query }
         type Query { node(id: ID!): Node search: [SearchResult!]! }
         interface Node { id: ID! }
         type User implements Node { id: ID! name: String! }
         type Post implements Node { id: ID! title: String! }
         union SearchResult = User | Post",
    );
    let ops = temp_file(
        "abstract_ops.graphql",
        "fragment NodeId on Node { id }
         query Find($id: ID!) {
           node(id: $id) { __typename ...NodeId ... on User { name } }
           search { __typename ... on Post { title } }
         }",
    );
    let code = Config::new()
        .schema(&schema)
        .operations(&ops)
        .generate_to_string()
        .unwrap()
        .code;
    // `id` comes from a fragment on the interface itself: always present.
    assert!(code.contains("pub id: ::std::string::String,"), "{code}");
    // `name` only when the node is a User, `title` only for Posts.
    assert!(
        code.contains("pub name: ::core::option::Option<::std::string::String>,"),
        "{code}"
    );
    assert!(
        code.contains("pub title: ::core::option::Option<::std::string::String>,"),
        "{code}"
    );
    assert!(
        code.contains("pub typename: ::std::string::String,"),
        "{code}"
    );
    let err = Config::new()
        .schema(&schema)
        .operations(temp_file(
            "bad_frag.graphql",
            "query Q { search { ... on Usr { id } } }",
        ))
        .generate_to_string()
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("unknown type `Usr`, did you mean `User`?"),
        "{err}"
    );
}
