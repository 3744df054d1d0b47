DROP TABLE IF EXISTS rasura.dead_letter;
DROP TABLE IF EXISTS rasura.delivery_attempt;
DROP TABLE IF EXISTS rasura.processed_delivery;
