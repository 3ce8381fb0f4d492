using System.Buffers;
using PgRouter.Protocol;
using PgRouter.Tests.Support;
using Xunit;

namespace PgRouter.Tests.Pooling;

public class OutgoingBytesTests
{
    private static readonly byte[] A = Messages.Query("SELECT 1");
    private static readonly byte[] B = Messages.Frame('S');
    private static readonly byte[] C = Messages.Query("SELECT 3");
    private static readonly byte[] All = Messages.Concat(A, B, C);
    private static readonly byte[] Inserted = Messages.Query("RESET ALL");

    /// <summary>The same bytes as one segment, one segment per byte, and split inside a frame.</summary>
    private static ReadOnlySequence<byte> Source(int layout) => layout switch
    {
        0 => new ReadOnlySequence<byte>(All),
        1 => Sequences.OneSegmentPerByte(All),
        _ => Sequences.SplitAt(All, A.Length + 2),
    };

    private static (ReadOnlySequence<byte> Source, OutgoingBytes Out) Start(int layout)
    {
        var source = Source(layout);
        var outgoing = new OutgoingBytes();
        outgoing.Begin(source);
        return (source, outgoing);
    }

    private static SequencePosition At(ReadOnlySequence<byte> source, int offset) => source.GetPosition(offset);

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    public void NothingChanged_SendsTheReceivedBytes_WithoutACopy(int layout)
    {
        var (source, outgoing) = Start(layout);

        outgoing.End(source.End);

        Assert.False(outgoing.IsCopy);
        Assert.True(outgoing.Copy.IsEmpty);
        Assert.Equal(All, outgoing.Original(source.End).ToArray());
        Assert.Equal(A, outgoing.Original(At(source, A.Length)).ToArray());
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    public void Drop_LeavesTheMessageOut(int layout)
    {
        var (source, outgoing) = Start(layout);

        outgoing.Drop(At(source, A.Length), At(source, A.Length + B.Length));
        outgoing.End(source.End);

        Assert.True(outgoing.IsCopy);
        Assert.Equal(Messages.Concat(A, C), outgoing.Copy.ToArray());
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    public void Drop_OfTheFirstAndLastMessages_KeepsTheMiddle(int layout)
    {
        var (source, outgoing) = Start(layout);

        outgoing.Drop(source.Start, At(source, A.Length));
        outgoing.Drop(At(source, A.Length + B.Length), source.End);
        outgoing.End(source.End);

        Assert.Equal(B, outgoing.Copy.ToArray());
    }

    [Theory]
    [InlineData(0)]
    [InlineData(2)]
    public void Replace_PutsWhatIsWrittenInPlaceOfTheMessage(int layout)
    {
        var (source, outgoing) = Start(layout);

        var writer = outgoing.Replace(At(source, A.Length), At(source, A.Length + B.Length));
        writer.Begin((byte)'Q');
        writer.WriteCString("SELECT 2");
        writer.End();
        outgoing.End(source.End);

        Assert.Equal(Messages.Concat(A, Messages.Query("SELECT 2"), C), outgoing.Copy.ToArray());
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    public void Insert_AddsBeforeTheNextReceivedBytes_InTheOrderInserted(int layout)
    {
        var (source, outgoing) = Start(layout);

        outgoing.Insert(source.Start).WriteBytes(Inserted);
        outgoing.Insert(source.Start).WriteBytes(B);
        outgoing.Insert(At(source, A.Length)).WriteBytes(Inserted);
        outgoing.End(source.End);

        Assert.Equal(Messages.Concat(Inserted, B, A, Inserted, B, C), outgoing.Copy.ToArray());
    }

    [Fact]
    public void Insert_BeforeADroppedMessage_TakesItsPlace()
    {
        var (source, outgoing) = Start(0);

        outgoing.Insert(At(source, A.Length)).WriteBytes(Inserted);
        outgoing.Drop(At(source, A.Length), At(source, A.Length + B.Length));
        outgoing.End(source.End);

        Assert.Equal(Messages.Concat(A, Inserted, C), outgoing.Copy.ToArray());
    }

    [Fact]
    public void End_BeforeTheLastMessage_LeavesTheRestOutOfTheCopy()
    {
        var (source, outgoing) = Start(1);

        outgoing.Drop(source.Start, At(source, A.Length));
        outgoing.End(At(source, A.Length + B.Length));

        Assert.Equal(B, outgoing.Copy.ToArray());
    }

    [Fact]
    public void Begin_StartsAfresh_ForTheNextBuffer()
    {
        var (source, outgoing) = Start(0);
        outgoing.Drop(source.Start, At(source, A.Length));
        outgoing.End(source.End);

        var next = new ReadOnlySequence<byte>(C);
        outgoing.Begin(next);
        outgoing.End(next.End);

        Assert.False(outgoing.IsCopy);
        Assert.True(outgoing.Copy.IsEmpty);
        Assert.Equal(C, outgoing.Original(next.End).ToArray());

        outgoing.Begin(next);
        outgoing.Insert(next.Start).WriteBytes(A);
        outgoing.End(next.End);
        Assert.Equal(Messages.Concat(A, C), outgoing.Copy.ToArray());
    }
}
