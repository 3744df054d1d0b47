DROP TABLE IF EXISTS rasura.processed_delivery;
