import Compute
