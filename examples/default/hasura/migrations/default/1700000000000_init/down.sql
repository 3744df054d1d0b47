DROP TABLE public.app;
DROP TABLE public."user";
DROP TABLE public."ENUM_ROLE";
