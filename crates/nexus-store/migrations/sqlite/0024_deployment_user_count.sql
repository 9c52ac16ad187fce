-- An application deployment's count of assigned users, kept by triggers on
-- every insert and delete (a user's deletion cascades to its assignments), so
-- that reading a deployment — every user read carries the user's deployments —
-- does not count its users.
-- Kept side by side with ../postgres/0024_deployment_user_count.sql: change
-- both together.

ALTER TABLE application_deployments ADD COLUMN user_count INTEGER NOT NULL DEFAULT 0;

UPDATE application_deployments SET user_count = (
    SELECT COUNT(*) FROM application_deployment_users du
    WHERE du.deployment_id = application_deployments.id
);

CREATE TRIGGER tr_application_deployment_users_counted
AFTER INSERT ON application_deployment_users
BEGIN
    UPDATE application_deployments SET user_count = user_count + 1
    WHERE id = NEW.deployment_id;
END;

CREATE TRIGGER tr_application_deployment_users_uncounted
AFTER DELETE ON application_deployment_users
BEGIN
    UPDATE application_deployments SET user_count = user_count - 1
    WHERE id = OLD.deployment_id;
END;
