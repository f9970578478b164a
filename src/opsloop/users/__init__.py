"""The console's users pages (用户): search persons by distinct_id or person properties, and a
person's profile with properties, distinct ids, saved segments and event timeline."""
