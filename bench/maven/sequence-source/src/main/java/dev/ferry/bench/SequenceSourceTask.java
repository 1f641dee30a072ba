package dev.ferry.bench;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;

import org.apache.kafka.common.config.AbstractConfig;
import org.apache.kafka.connect.data.Schema;
import org.apache.kafka.connect.source.SourceRecord;
import org.apache.kafka.connect.source.SourceTask;

/** Emits "task:seq:payload" from the committed offset on, throttled like DataGen. */
public class SequenceSourceTask extends SourceTask {
    private static final String ALPHABET =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

    private String topic;
    private int task;
    private double rate;
    private int valueSize;
    private int batchSize;
    private Map<String, Object> partition;
    private String padding;
    private long next;
    private long first;
    private long startedNanos;
    private volatile boolean stopping;

    @Override
    public void start(Map<String, String> props) {
        Map<String, Object> all = new java.util.HashMap<>(props);
        AbstractConfig config = new AbstractConfig(SequenceSourceConnector.CONFIG_DEF, all);
        topic = config.getString(SequenceSourceConnector.TOPIC);
        rate = config.getDouble(SequenceSourceConnector.RATE);
        valueSize = config.getInt(SequenceSourceConnector.VALUE_SIZE);
        batchSize = config.getInt(SequenceSourceConnector.BATCH_SIZE);
        task = Integer.parseInt(props.get(SequenceSourceConnector.TASK));
        partition = SequenceSourceConnector.partition(task);
        StringBuilder pad = new StringBuilder();
        for (int i = 0; i < valueSize; i++) {
            pad.append(ALPHABET.charAt((i * 31 + task * 7) % ALPHABET.length()));
        }
        padding = pad.toString();
        Map<String, Object> offset = context.offsetStorageReader().offset(partition);
        Object seq = offset == null ? null : offset.get("seq");
        next = seq instanceof Number ? ((Number) seq).longValue() + 1 : 0;
        first = next;
        startedNanos = System.nanoTime();
    }

    private long due() {
        if (rate <= 0) {
            return batchSize;
        }
        double elapsed = (System.nanoTime() - startedNanos) / 1e9;
        return (long) (elapsed * rate) - (next - first);
    }

    @Override
    public List<SourceRecord> poll() throws InterruptedException {
        long count = Math.min(batchSize, due());
        if (count <= 0) {
            double dueAt = (next - first + 1) / rate;
            double wait = dueAt - (System.nanoTime() - startedNanos) / 1e9;
            long millis = Math.max(1, Math.min(100, (long) Math.ceil(wait * 1000)));
            if (!stopping) {
                Thread.sleep(millis);
            }
            return null;
        }
        List<SourceRecord> records = new ArrayList<>((int) count);
        for (long n = next; n < next + count; n++) {
            String prefix = task + ":" + n + ":";
            String value = prefix + padding.substring(0, Math.max(0, valueSize - prefix.length()));
            records.add(new SourceRecord(partition, Collections.singletonMap("seq", n), topic,
                                         null, null, null, Schema.STRING_SCHEMA, value));
        }
        next += count;
        return records;
    }

    @Override
    public void stop() {
        stopping = true;
    }

    @Override
    public String version() {
        return "1";
    }
}
