/// The version this build of Secateur reports in run records and `--version`.
/// Bumped by hand at a release; the git commit (RunEnvironment) tells builds in between apart.
public enum SecateurVersion {
    public static let string = "0.2.0-dev"
}
