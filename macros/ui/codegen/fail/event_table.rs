// With codegen, an event's table, columns and row type are checked against the schema.
mod hasura {
    include!("../generated.rs");
}
use rasura::{Event, EventError, Ctx, event};

#[event(table = "public.user", insert)]
async fn misspelt_table(_ctx: Ctx, _e: Event<rasura::types::Json>) -> Result<(), EventError> {
    Ok(())
}

#[event(table = "public.users", update(columns = ["emial", "display_name"], payload = ["id", "nme"]))]
async fn misspelt_columns(_ctx: Ctx, _e: Event<hasura::events::UsersRow>) -> Result<(), EventError> {
    Ok(())
}

#[event(table = "public.notes", insert)]
async fn wrong_row(_ctx: Ctx, _e: Event<hasura::events::UsersRow>) -> Result<(), EventError> {
    Ok(())
}

fn main() {}
