using PgRouter.Pooling;
using Xunit;

namespace PgRouter.Tests.Pooling;

public class ExpectationQueueTests
{
    private static ExpectationQueue Queue(params Expected[] kinds)
    {
        var queue = new ExpectationQueue();
        foreach (var kind in kinds)
        {
            queue.Add(new Expectation(kind));
        }
        return queue;
    }

    [Fact]
    public void Empty_AnswersSync_ToPeekAndPop()
    {
        var queue = new ExpectationQueue();

        Assert.True(queue.IsEmpty);
        Assert.Equal(new Expectation(Expected.Sync), queue.Peek());
        Assert.Equal(new Expectation(Expected.Sync), queue.Pop());
        Assert.Equal(0, queue.Count);
    }

    [Fact]
    public void PopsInTheOrderAdded_PeekDoesNotRemove()
    {
        var statement = new PreparedStatement("s1", "pgr_x", [], []);
        var queue = new ExpectationQueue();
        queue.Add(new Expectation(Expected.Parse, statement));
        queue.Add(new Expectation(Expected.InjectedClose, Closed: "pgr_old"));
        queue.Add(new Expectation(Expected.Sync));

        Assert.Equal(3, queue.Count);
        Assert.Equal(new Expectation(Expected.Parse, statement), queue.Peek());
        Assert.Equal(new Expectation(Expected.Parse, statement), queue.Pop());
        Assert.Equal(new Expectation(Expected.InjectedClose, Closed: "pgr_old"), queue.Pop());
        Assert.Equal(Expected.Sync, queue.Pop().Kind);
        Assert.True(queue.IsEmpty);
    }

    [Fact]
    public void Grows_PastItsFirstCapacity_WhileWrappedAround_KeepingOrder()
    {
        var queue = new ExpectationQueue();
        for (int i = 0; i < 10; i++)
        {
            queue.Add(new Expectation(Expected.Bind, Closed: $"warm{i}"));
        }
        for (int i = 0; i < 10; i++)
        {
            queue.Pop();
        }
        for (int i = 0; i < 40; i++)
        {
            queue.Add(new Expectation(Expected.Execute, Closed: i.ToString()));
        }

        Assert.Equal(40, queue.Count);
        for (int i = 0; i < 40; i++)
        {
            Assert.Equal(i.ToString(), queue.Pop().Closed);
        }
        Assert.True(queue.IsEmpty);
    }

    [Fact]
    public void Clear_EmptiesTheQueue_AndItIsUsableAgain()
    {
        var queue = Queue(Expected.Parse, Expected.Bind, Expected.Sync);

        queue.Clear();

        Assert.True(queue.IsEmpty);
        Assert.Equal(Expected.Sync, queue.Peek().Kind);
        queue.Add(new Expectation(Expected.Close));
        Assert.Equal(Expected.Close, queue.Pop().Kind);
    }

    [Theory]
    [InlineData(true, "Parse Sync ShapeOf")]
    [InlineData(true, "Setup ShapeOf")]
    [InlineData(true, "Sync")]
    [InlineData(false, "ShapeOf Sync")]
    [InlineData(false, "Parse ShapeOf Sync ShapeOf")]
    [InlineData(false, "Parse Bind")]
    [InlineData(false, "")]
    public void SyncBefore_TellsWhetherASyncOrSetupComesFirst(bool expected, string kinds)
    {
        var queue = Queue([.. kinds.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(Enum.Parse<Expected>)]);

        Assert.Equal(expected, queue.SyncBefore(Expected.ShapeOf));
    }

    [Fact]
    public void SyncBefore_LooksOnlyAtWhatIsStillQueued()
    {
        var queue = Queue(Expected.Sync, Expected.ShapeOf);
        Assert.True(queue.SyncBefore(Expected.ShapeOf));

        queue.Pop();

        Assert.False(queue.SyncBefore(Expected.ShapeOf));
    }
}
