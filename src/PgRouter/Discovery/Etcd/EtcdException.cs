namespace PgRouter.Discovery.Etcd;

/// <summary>etcd could not be used: every endpoint failed, the watch broke, or it said no.</summary>
internal sealed class EtcdException(string message, Exception? inner = null) : Exception(message, inner);
