package dev.ferry.bench;

import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.apache.kafka.common.config.ConfigDef;
import org.apache.kafka.connect.connector.Task;
import org.apache.kafka.connect.source.ExactlyOnceSupport;
import org.apache.kafka.connect.source.SourceConnector;

/**
 * Numbered sequences, one per task, at a fixed rate per task: the Kafka Connect twin of
 * Ferry's DataGen with {@code value.shape=string} (values "task:seq:payload", source partition
 * {"task": i}, offset {"seq": n}; a restarted task resumes after its committed offset).
 */
public class SequenceSourceConnector extends SourceConnector {
    static final String TOPIC = "topic";
    static final String RATE = "records.per.second";
    static final String VALUE_SIZE = "value.size";
    static final String BATCH_SIZE = "batch.size";
    static final String TASK = "sequence.task";

    static final ConfigDef CONFIG_DEF = new ConfigDef()
        .define(TOPIC, ConfigDef.Type.STRING, ConfigDef.Importance.HIGH, "Topic to write to.")
        .define(RATE, ConfigDef.Type.DOUBLE, 100.0, ConfigDef.Importance.MEDIUM,
                "Records per second of each task (<= 0: no limit).")
        .define(VALUE_SIZE, ConfigDef.Type.INT, 100, ConfigDef.Importance.LOW,
                "Length of each value (never shorter than its task:seq: prefix).")
        .define(BATCH_SIZE, ConfigDef.Type.INT, 1000, ConfigDef.Importance.LOW,
                "Most records one poll returns.");

    private Map<String, String> props;

    @Override
    public void start(Map<String, String> props) {
        CONFIG_DEF.parse(props);
        this.props = new HashMap<>(props);
    }

    @Override
    public Class<? extends Task> taskClass() {
        return SequenceSourceTask.class;
    }

    @Override
    public List<Map<String, String>> taskConfigs(int maxTasks) {
        List<Map<String, String>> configs = new ArrayList<>();
        for (int i = 0; i < maxTasks; i++) {
            Map<String, String> config = new HashMap<>(props);
            config.put(TASK, Integer.toString(i));
            configs.add(config);
        }
        return configs;
    }

    @Override
    public void stop() {
    }

    @Override
    public ConfigDef config() {
        return CONFIG_DEF;
    }

    @Override
    public ExactlyOnceSupport exactlyOnceSupport(Map<String, String> props) {
        return ExactlyOnceSupport.SUPPORTED;  // every value is a function of (task, seq)
    }

    @Override
    public String version() {
        return "1";
    }

    static Map<String, Object> partition(int task) {
        return Collections.singletonMap("task", task);
    }
}
