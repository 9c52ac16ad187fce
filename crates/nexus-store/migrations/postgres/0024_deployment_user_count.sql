-- An application deployment's count of assigned users, kept by a trigger on
-- every insert and delete (a user's deletion cascades to its assignments), so
-- that reading a deployment — every user read carries the user's deployments —
-- does not count its users.
-- Kept side by side with ../sqlite/0024_deployment_user_count.sql: change
-- both together.

ALTER TABLE application_deployments ADD COLUMN user_count INTEGER NOT NULL DEFAULT 0;

UPDATE application_deployments d SET user_count = (
    SELECT COUNT(*) FROM application_deployment_users du WHERE du.deployment_id = d.id
);

CREATE FUNCTION count_application_deployment_users() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        UPDATE application_deployments SET user_count = user_count + 1
        WHERE id = NEW.deployment_id;
    ELSE
        UPDATE application_deployments SET user_count = user_count - 1
        WHERE id = OLD.deployment_id;
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER tr_application_deployment_users_count
AFTER INSERT OR DELETE ON application_deployment_users
FOR EACH ROW EXECUTE FUNCTION count_application_deployment_users();
