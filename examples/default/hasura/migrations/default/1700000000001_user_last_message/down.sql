ALTER TABLE public."user" DROP COLUMN last_message;
