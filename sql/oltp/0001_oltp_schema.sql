-- The shop's order schema (OLTP): customers, the product catalogue, orders and their lines.
-- Constraints carry the business rules so hostile or buggy writers are refused by the
-- database itself: prices are non-negative money with two decimals, quantities positive and
-- bounded, emails unique case-insensitively, an order line's price is frozen at order time.
-- Tables only: the view shop.order_totals is a current definition in definitions/ (sql/README.md).

CREATE SCHEMA IF NOT EXISTS shop;

CREATE TABLE shop.customers (
    customer_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email text NOT NULL CHECK (email ~ '^[^@\s]+@[^@\s]+\.[^@\s]+$' AND length(email) <= 254),
    full_name text NOT NULL CHECK (length(btrim(full_name)) BETWEEN 1 AND 200),
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX customers_email_key ON shop.customers (lower(email));

CREATE TABLE shop.products (
    product_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    sku text NOT NULL UNIQUE CHECK (sku ~ '^[A-Z0-9][A-Z0-9-]{2,31}$'),
    name text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 200),
    brand text NOT NULL CHECK (length(btrim(brand)) BETWEEN 1 AND 100),
    category text NOT NULL CHECK (category IN ('laptops', 'monitors', 'accessories')),
    price numeric(10, 2) NOT NULL CHECK (price >= 0),
    currency char(3) NOT NULL DEFAULT 'EUR' CHECK (currency ~ '^[A-Z]{3}$'),
    active boolean NOT NULL DEFAULT true,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX products_category_idx ON shop.products (category) WHERE active;

CREATE TABLE shop.orders (
    order_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- The id the tracker sends as GA4 transaction_id, so web events join to orders.
    transaction_id text NOT NULL UNIQUE CHECK (transaction_id ~ '^[A-Za-z0-9_-]{1,64}$'),
    customer_id bigint NOT NULL REFERENCES shop.customers (customer_id),
    status text NOT NULL DEFAULT 'placed' CHECK (status IN ('placed', 'paid', 'shipped', 'cancelled', 'refunded')),
    currency char(3) NOT NULL DEFAULT 'EUR' CHECK (currency ~ '^[A-Z]{3}$'),
    placed_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX orders_customer_idx ON shop.orders (customer_id, placed_at DESC);

CREATE TABLE shop.order_items (
    order_id bigint NOT NULL REFERENCES shop.orders (order_id) ON DELETE CASCADE,
    line_no smallint NOT NULL CHECK (line_no >= 1),
    product_id bigint NOT NULL REFERENCES shop.products (product_id),
    quantity integer NOT NULL CHECK (quantity BETWEEN 1 AND 1000),
    unit_price numeric(10, 2) NOT NULL CHECK (unit_price >= 0),
    PRIMARY KEY (order_id, line_no),
    UNIQUE (order_id, product_id)
);
CREATE INDEX order_items_product_idx ON shop.order_items (product_id);
