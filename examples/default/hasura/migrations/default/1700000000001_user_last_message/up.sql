-- The last message a user sent to `pong` (written through Hasura as the user's role).
ALTER TABLE public."user" ADD COLUMN last_message text;
