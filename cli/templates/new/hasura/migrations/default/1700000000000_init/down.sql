DROP TABLE public.greeting;
