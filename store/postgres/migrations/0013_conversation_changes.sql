-- samagate_check fails the statement, and with it the commit, with SQLSTATE
-- code when ok is false: a commit checks the rules of a conversation change
-- (store.ConversationChange: a member to remove who is not one, too many
-- members) inside its one round trip, where no client code runs between
-- statements (store/postgres/changes.go maps the codes).
CREATE FUNCTION samagate_check(ok boolean, code text) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
    IF NOT ok THEN
        RAISE EXCEPTION 'conversation change refused: %', code USING ERRCODE = code;
    END IF;
    RETURN true;
END
$$;
