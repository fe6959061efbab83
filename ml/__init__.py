"""Digit recognition, plain Python (no Django): from upload bytes to a reading, and the model.

The reading path, by stage; each module imports only earlier ones:
decode (untrusted bytes -> image) -> planes (working size, float planes) -> ruled (printed lines)
-> ink (binarisation) -> crop (one digit as MNIST-style input) -> grouping (marks into the
digits of one line) -> cuts (least-ink cut paths) -> budget (what reading a line may cost)
-> search (where to cut, read lazily) -> reading (``read_image``: the stages stitched together).

The model side: data, augment, features, forest_arrays, svm_arrays, wholeness, predict
(``Model``, ``load_model``), estimators, artifact, train, evaluate; personal (a user's own
corrections blended into the model's reading, ``PersonalModel``).
"""
