-- Resources of the access-policy examples: videos per region (as in the Cerbos example) and
-- schools (as in Wriveted). The service loads them and checks its policies against them.
CREATE TABLE public.video (
    id integer PRIMARY KEY,
    title text NOT NULL,
    region text NOT NULL
);
CREATE TABLE public.school (
    id integer PRIMARY KEY,
    name text NOT NULL
);
