"""Names of dims, coords and attrs, defined once for every store kind."""

# dims
TRIAL = "trial"
CHANNEL = "channel"
TIME = "time"
VOXEL = "voxel"
PARCEL = "parcel"
STIMULUS = "stimulus"
LAYER = "layer"
REGION = "region"
METRIC = "metric"
TARGET = "target"
SPACE = "space"

# coords
CONDITION = "condition"
RUN = "run"
ONSET = "onset"
CH_TYPE = "ch_type"
POSITION = "position"  # (channel, space) or (voxel, space), metres or mm as `units`
REGION_COORD = REGION  # region label of each voxel / parcel / target

# attrs
KIND = "kind"
MODALITY = "modality"
SFREQ = "sfreq"
TR = "tr"
PROVENANCE = "provenance"
MODEL = "model"
ORIGINAL_SHAPE = "original_shape"
REDUCTION = "reduction"
SCHEMA_VERSION = "schema_version"

SCHEMA = 1
