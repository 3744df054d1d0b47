-- Pysura's data model: users with a role from an enum table, and the app's message.
CREATE TABLE public."ENUM_ROLE" (
    value text PRIMARY KEY,
    comment text
);
INSERT INTO public."ENUM_ROLE" (value, comment) VALUES
    ('admin', 'Administrator'),
    ('persona', 'Persona'),
    ('user', 'User');

CREATE TABLE public."user" (
    user_id text PRIMARY KEY,
    role text NOT NULL DEFAULT 'user' REFERENCES public."ENUM_ROLE" (value)
        ON UPDATE RESTRICT ON DELETE RESTRICT,
    user_phone text NOT NULL,
    token integer NOT NULL DEFAULT 0,
    created_at timestamptz DEFAULT now(),
    updated_at timestamptz DEFAULT now()
);

CREATE TABLE public.app (
    name text PRIMARY KEY,
    message text NOT NULL,
    storage_bucket text NOT NULL DEFAULT '',
    version_latest text NOT NULL DEFAULT '0.1.0',
    version_supported text NOT NULL DEFAULT '0.1.0'
);
INSERT INTO public.app (name, message) VALUES ('default', 'Welcome');
