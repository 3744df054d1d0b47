DROP TABLE public.school;
DROP TABLE public.video;
