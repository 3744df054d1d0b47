//! One module per handler (`rasura add action|event|cron|scheduled` adds them here).

%if auth
pub mod auth;
%end
pub mod daily_report;
pub mod greeting_created;
pub mod hello;
%if storage
pub mod upload_text;
%end
