-- Reference data that ships with the schema. Limits and priorities live here, not in code.
INSERT INTO plans (id, name, per_hour, per_day, priority, model, price_per_month, is_default) VALUES
    ('free', 'Free', 10, 50, 0, 'gpt-4o-mini', 0, true),
    ('paid', 'Paid', 100, 500, 10, 'gpt-4o', 12.00, false);

-- USD per 1,000 tokens.
INSERT INTO model_prices (model, prompt_per_1k, completion_per_1k) VALUES
    ('gpt-4o-mini', 0.000150, 0.000600),
    ('gpt-4o', 0.002500, 0.010000);
