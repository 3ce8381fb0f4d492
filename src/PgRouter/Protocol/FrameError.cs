namespace PgRouter.Protocol;

/// <summary>Why a stream of frames cannot be followed any further.</summary>
internal enum FrameError
{
    None,
    InvalidType,
    InvalidLength,
}
