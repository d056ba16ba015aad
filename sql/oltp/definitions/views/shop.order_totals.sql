-- One row per order with at least one line: its total and item count, from the frozen line prices.

CREATE OR REPLACE VIEW shop.order_totals AS
SELECT o.order_id, o.transaction_id, o.customer_id, o.status, o.currency, o.placed_at,
       sum(i.quantity * i.unit_price)::numeric(12, 2) AS total, sum(i.quantity) AS items
FROM shop.orders o
JOIN shop.order_items i USING (order_id)
GROUP BY o.order_id;
