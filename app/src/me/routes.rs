//! The "me" page as an address (`/me`): anyone signed in may see their own.

use crate::access::server::signed_in;
use crate::context::server_context;
use crate::error::AppError;
use crate::server_page::model::ServerHtml;

pub fn me_page() -> Result<ServerHtml, AppError> {
    let principal = signed_in()?;
    let context = server_context()?;
    Ok(ServerHtml { title: "Me".to_owned(), html: super::page(&principal, &context.environments) })
}
