namespace PgRouter.Transport;

/// <summary>Returns bytes already read from the inner stream before reading it further (direct TLS starts inside them).</summary>
internal sealed class PrefixedStream(byte[] prefix, Stream inner) : Stream
{
    private int _consumed;

    public override bool CanRead => true;
    public override bool CanWrite => true;
    public override bool CanSeek => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
        _consumed < prefix.Length ? ValueTask.FromResult(FromPrefix(buffer.Span)) : inner.ReadAsync(buffer, cancellationToken);

    public override int Read(byte[] buffer, int offset, int count) =>
        _consumed < prefix.Length ? FromPrefix(buffer.AsSpan(offset, count)) : inner.Read(buffer, offset, count);

    private int FromPrefix(Span<byte> buffer)
    {
        int count = Math.Min(buffer.Length, prefix.Length - _consumed);
        prefix.AsSpan(_consumed, count).CopyTo(buffer);
        _consumed += count;
        return count;
    }

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) => inner.WriteAsync(buffer, cancellationToken);

    public override void Write(byte[] buffer, int offset, int count) => inner.Write(buffer, offset, count);

    public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);

    public override void Flush() => inner.Flush();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            inner.Dispose();
        }
        base.Dispose(disposing);
    }
}
