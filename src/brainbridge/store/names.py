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
REPLICATE = "replicate"  # independent estimates of one RDM (subjects, sessions, runs)
SUBJECT = "subject"  # replicate -> subject: replicates of one subject form a group
SESSION = "session"  # replicate -> session (or run) within its subject
STIMULUS2 = "stimulus2"  # the column dim of an RDM (same ids as `stimulus`)
SEGMENT = "segment"  # a window of a continuous recording (tokens)
EVENT = "event"  # a stimulus event of a continuous recording (onset, stimulus, condition)
SOURCE = "source"  # a latent source of a sensor-aware tokenizer
TOKEN = "token"  # a token step
LEVEL = "level"  # an RVQ level
CODE = "code"  # a codebook entry
CODE_DIM = "code_dim"

# coords
CONDITION = "condition"
RUN = "run"
ONSET = "onset"
CH_TYPE = "ch_type"
POSITION = "position"  # (channel, space) or (voxel, space), metres or mm as `units`
ORIENTATION = "orientation"  # (channel, space): MEG coil normal (unit vector), EEG zeros
REGION_COORD = REGION  # region label of each voxel / parcel / target
TOKEN_TIME = "token_time"  # centre of each token (s; epochs: relative to the event)

# attrs
KIND = "kind"
MODALITY = "modality"
SFREQ = "sfreq"
TR = "tr"
PROVENANCE = "provenance"
MODEL = "model"
ORIGINAL_SHAPE = "original_shape"
REDUCTION = "reduction"
DISSIMILARITY = "dissimilarity"  # how a brain RDM was computed
SCHEMA_VERSION = "schema_version"
CHECKSUM = "checksum"  # content checksum recorded on write, verified on read
TOKENIZER = "tokenizer"
CHECKPOINT_SHA256 = "checkpoint_sha256"

SCHEMA = 1

# temporal response functions
LAG = "lag"  # TRF lag (s; positive: the response follows the stimulus)
FEATURE = "feature"  # a feature of a stimulus time series
FOLD = "fold"  # a cross-validation block

# decoding results (identification of layer features from the brain)
DECODER = "decoder"  # ridge | contrastive
LEVEL = "level"  # trial | stimulus (queries: single trials or averaged repetitions)
TOP_K = "k"  # top-k accuracy dim
TRAIN_TIME = "train_time"  # temporal generalization: time the decoder was trained at
TEST_TIME = "test_time"  # ... and the time it was tested at
CLUSTER = "cluster"  # clusters of a cluster permutation test

# variance partitioning (banded ridge over 2-3 layers)
COMPONENT = "component"  # r2:S (held-out R^2 of subset S), unique:X, shared:S
BAND = "band"  # a feature space (layer) of a banded ridge model
