-- Sends whose Graph call got no usable answer (state 'in_doubt', SendStore.hold_in_doubt):
-- listed for review and, when the operator opted in, resent once after a while.
CREATE INDEX sends_in_doubt ON sends (updated_at, key) WHERE state = 'in_doubt';
