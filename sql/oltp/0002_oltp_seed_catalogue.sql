-- Seed catalogue of the demo shop: the same computer products the tracker's demo pages and
-- the synthetic traffic use (laptops, monitors, accessories). Re-runnable by SKU.
-- depends: 0001_oltp_schema

INSERT INTO shop.products (sku, name, brand, category, price) VALUES
    ('LAP-XPS13-2024', 'XPS 13 (2024) 16GB/512GB', 'Dell', 'laptops', 1299.00),
    ('LAP-XPS15-2024', 'XPS 15 (2024) 32GB/1TB', 'Dell', 'laptops', 2099.00),
    ('LAP-MBA13-M3', 'MacBook Air 13 M3 16GB/512GB', 'Apple', 'laptops', 1499.00),
    ('LAP-MBP14-M3P', 'MacBook Pro 14 M3 Pro 18GB/512GB', 'Apple', 'laptops', 2399.00),
    ('LAP-X1C-G12', 'ThinkPad X1 Carbon Gen 12', 'Lenovo', 'laptops', 1899.00),
    ('LAP-T14-G5', 'ThinkPad T14 Gen 5', 'Lenovo', 'laptops', 1249.00),
    ('LAP-SPECTRE14', 'Spectre x360 14', 'HP', 'laptops', 1599.00),
    ('LAP-ZEN14-OLED', 'Zenbook 14 OLED', 'ASUS', 'laptops', 999.00),
    ('LAP-SWIFT-GO14', 'Swift Go 14', 'Acer', 'laptops', 799.00),
    ('LAP-FW13-AMD', 'Laptop 13 (AMD Ryzen 7040)', 'Framework', 'laptops', 1049.00),
    ('MON-U2724D', 'UltraSharp 27 QHD U2724D', 'Dell', 'monitors', 529.00),
    ('MON-U3224KB', 'UltraSharp 32 6K U3224KB', 'Dell', 'monitors', 2899.00),
    ('MON-27GP850', 'UltraGear 27GP850 27" QHD 180Hz', 'LG', 'monitors', 399.00),
    ('MON-32UN880', 'Ergo 32UN880 32" 4K', 'LG', 'monitors', 649.00),
    ('MON-ODY-G7', 'Odyssey G7 32" 240Hz', 'Samsung', 'monitors', 699.00),
    ('MON-VS-S27', 'ViewFinity S8 27" 4K', 'Samsung', 'monitors', 449.00),
    ('MON-PA278CV', 'ProArt PA278CV 27"', 'ASUS', 'monitors', 379.00),
    ('MON-P27H-G5', 'P27h G5 27" FHD', 'HP', 'monitors', 219.00),
    ('MON-BENQ-PD2706U', 'PD2706U 27" 4K Designer', 'BenQ', 'monitors', 599.00),
    ('MON-EIZO-EV2795', 'FlexScan EV2795 27"', 'EIZO', 'monitors', 989.00),
    ('ACC-MX-MASTER3S', 'MX Master 3S Mouse', 'Logitech', 'accessories', 109.00),
    ('ACC-MX-KEYS-S', 'MX Keys S Keyboard', 'Logitech', 'accessories', 119.00),
    ('ACC-MAGIC-KBD', 'Magic Keyboard with Touch ID', 'Apple', 'accessories', 159.00),
    ('ACC-WD19TBS', 'WD19TBS Thunderbolt Dock', 'Dell', 'accessories', 289.00),
    ('ACC-CALDIGIT-TS4', 'TS4 Thunderbolt 4 Dock', 'CalDigit', 'accessories', 399.00),
    ('ACC-BRIO-4K', 'Brio 4K Webcam', 'Logitech', 'accessories', 199.00),
    ('ACC-WH1000XM5', 'WH-1000XM5 Headphones', 'Sony', 'accessories', 379.00),
    ('ACC-T7-1TB', 'T7 Portable SSD 1TB', 'Samsung', 'accessories', 109.00),
    ('ACC-ANKER-100W', '100W USB-C GaN Charger', 'Anker', 'accessories', 69.00),
    ('ACC-USBC-CABLE2M', 'USB-C 240W Cable 2m', 'Anker', 'accessories', 19.00),
    ('ACC-LAPTOP-STAND', 'Aluminium Laptop Stand', 'Rain Design', 'accessories', 49.00),
    ('ACC-SLEEVE-14', '14" Laptop Sleeve', 'Incase', 'accessories', 39.00)
ON CONFLICT (sku) DO NOTHING;
