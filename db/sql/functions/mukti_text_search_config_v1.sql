-- mukti_text_search_config_v1(preferences)
-- The text-search configuration of a user's messages, from users.preferences.language:
-- the one place that decides it, for the writers (ts_config of every message they store)
-- and for the search query (how the user's query words are stemmed), so both stem alike.
--
-- language may be an ISO 639 code with an optional region ('fr', 'pt-BR', 'de_AT'), or
-- the name of a configuration ('french', 'French'). Only Postgres's built-in
-- configurations (schema pg_catalog) count: anything else, a non-string or a missing
-- language is english. STABLE, not IMMUTABLE: it reads pg_ts_config.
CREATE FUNCTION mukti_text_search_config_v1(preferences jsonb) RETURNS regconfig
LANGUAGE sql STABLE PARALLEL SAFE
RETURN coalesce(
    (SELECT c.oid::regconfig
       FROM (SELECT lower(btrim(preferences ->> 'language', E' \t\n\r\f\v')) AS name
              WHERE jsonb_typeof(preferences -> 'language') = 'string') AS l
       JOIN pg_catalog.pg_ts_config c
         ON c.cfgnamespace = 'pg_catalog'::regnamespace
        -- ISO 639-1 codes of the languages Postgres ships a configuration for.
        AND c.cfgname = coalesce('{"ar": "arabic", "ca": "catalan", "da": "danish", "de": "german",
                                   "el": "greek", "en": "english", "es": "spanish", "eu": "basque",
                                   "fi": "finnish", "fr": "french", "ga": "irish", "hi": "hindi",
                                   "hu": "hungarian", "hy": "armenian", "id": "indonesian", "it": "italian",
                                   "lt": "lithuanian", "ne": "nepali", "nl": "dutch", "no": "norwegian",
                                   "nb": "norwegian", "nn": "norwegian", "pt": "portuguese", "ro": "romanian",
                                   "ru": "russian", "sr": "serbian", "sv": "swedish", "ta": "tamil",
                                   "tr": "turkish", "yi": "yiddish"}'::jsonb
                                 ->> split_part(replace(l.name, '_', '-'), '-', 1),
                                 l.name)),
    'english'::regconfig);
