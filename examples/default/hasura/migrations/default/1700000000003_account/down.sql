DROP TABLE public.account;
