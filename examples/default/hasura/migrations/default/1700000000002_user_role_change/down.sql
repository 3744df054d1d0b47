DROP TABLE public.user_role_change;
