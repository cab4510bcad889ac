-- members_version names one member list of a conversation for good: every
-- insert, update or delete of a participant row, and the conversation's
-- creation, sets it from one database-wide counter. A commit reads the
-- versions of its conversations and takes the member lists of the versions
-- it has read before from memory (sqlrow.MemberCache), whoever made the
-- change. Rows from before this migration keep version 0 until their next
-- change; a conversation made from now on never has 0.
ALTER TABLE conversations ADD COLUMN members_version INTEGER NOT NULL DEFAULT 0;

CREATE TABLE member_clock (v INTEGER NOT NULL);
INSERT INTO member_clock (v) VALUES (0);

CREATE TRIGGER conversations_members_new AFTER INSERT ON conversations BEGIN
    UPDATE member_clock SET v = v + 1;
    UPDATE conversations SET members_version = (SELECT v FROM member_clock) WHERE id = NEW.id;
END;

CREATE TRIGGER participants_version_insert AFTER INSERT ON participants BEGIN
    UPDATE member_clock SET v = v + 1;
    UPDATE conversations SET members_version = (SELECT v FROM member_clock) WHERE id = NEW.conversation_id;
END;

CREATE TRIGGER participants_version_update AFTER UPDATE ON participants BEGIN
    UPDATE member_clock SET v = v + 1;
    UPDATE conversations SET members_version = (SELECT v FROM member_clock)
        WHERE id IN (NEW.conversation_id, OLD.conversation_id);
END;

CREATE TRIGGER participants_version_delete AFTER DELETE ON participants BEGIN
    UPDATE member_clock SET v = v + 1;
    UPDATE conversations SET members_version = (SELECT v FROM member_clock) WHERE id = OLD.conversation_id;
END;
