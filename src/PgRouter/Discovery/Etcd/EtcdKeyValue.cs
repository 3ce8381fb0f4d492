namespace PgRouter.Discovery.Etcd;

/// <summary>A key as the gateway returns it, decoded from base64. A DELETE event carries only key and mod_revision.</summary>
internal sealed record EtcdKeyValue(string Key, byte[] Value, long ModRevision, long CreateRevision, long Lease);

internal sealed record EtcdEvent(bool IsDelete, EtcdKeyValue Kv);

internal sealed record EtcdRangeResult(long Revision, IReadOnlyList<EtcdKeyValue> Kvs);

/// <summary>One line of the watch stream.</summary>
/// <param name="HeaderRevision">The store's revision when etcd sent the message.</param>
/// <param name="CompactRevision">Set when the watch was cancelled because its start revision was compacted.</param>
/// <param name="Error">A stream-level failure ("etcdserver: no leader"): the stream ends after it.</param>
internal sealed record EtcdWatchMessage(
    long HeaderRevision,
    bool Created,
    bool Canceled,
    long CompactRevision,
    string? CancelReason,
    IReadOnlyList<EtcdEvent> Events,
    string? Error);
