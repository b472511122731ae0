-- One database per service: each service owns its data.
CREATE DATABASE medpay_identity;
CREATE DATABASE medpay_card;
CREATE DATABASE medpay_pharmacy;
CREATE DATABASE medpay_billing;
