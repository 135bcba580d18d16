"""The alert rules' change channel: what a layer shows that the same part layout's previous layers did not.

- keys: a layer's parts key, and whether consecutive layers show the same parts (parts_keys_match);
- scoring: the change score of a layer against that run of layers (change_score, change_scores);
- filters and margins: the matched filters and where the layers are compared;
- calibration: the channel's threshold from good jobs (change_calibrate).

See README.md for how it scores, its knobs and its benchmarks.
"""
