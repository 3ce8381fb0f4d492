namespace PgRouter.Protocol;

/// <summary>The process id and secret key of BackendKeyData and CancelRequest (protocol 3.0).</summary>
internal readonly record struct CancelKey(int ProcessId, int SecretKey);
