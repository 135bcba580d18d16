"""Which kind of defect a heatmap region likely is: shape features and a per-machine classifier.

from ml.kinds import KindClassifier, region_features
features = region_features(heat=scaled_heatmap, image=frame, box=region["box"])
classifier = KindClassifier.fit(rows, kinds)
kind, probability = classifier.predict(features)
"""

from ml.kinds.classifier import KindClassifier
from ml.kinds.features import FEATURE_NAMES, region_features

__all__ = ["FEATURE_NAMES", "KindClassifier", "region_features"]
