"""The domain core: the 六单 ticket state machine, deadlines in working days, escalation, rights."""
